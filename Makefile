# eczema-med-bot. `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help
export RASA_TELEMETRY_ENABLED := false
export HF_HUB_OFFLINE := 1
export PYTHONPATH := $(CURDIR)
# endpoints.yml reads these; `rasa test` and `rasa shell` need them too (bot.ops.stack sets its own).
export TRACKER_DB ?= $(CURDIR)/var/tracker.db
export ACTION_SERVER_URL ?= http://127.0.0.1:5055/webhook

PYENV_ROOT ?= $(shell pyenv root 2>/dev/null || echo $$HOME/.pyenv)
PY310 ?= $(lastword $(sort $(wildcard $(PYENV_ROOT)/versions/3.10.*/bin/python)))
PY311 ?= $(lastword $(sort $(wildcard $(PYENV_ROOT)/versions/3.11.*/bin/python)))
VENV := .venv
RASA_VENV := .venv-rasa
PY := $(VENV)/bin/python
RASA := $(RASA_VENV)/bin/rasa
MODEL := models/eczema.tar.gz
ENCODER := var/models/minilm/model.onnx
TRAINING := config.yml domain.yml bot/rasa_server/intent_classifier.py $(shell find data -type f -name '*.yml' 2>/dev/null)

.PHONY: help machine setup run run-prod prod-test test lint unit channels validate stories chat eval calibrate topic-reader nlu-report kb-audit kb-sync bench purge gaps staff-add security deploy-tools deploy-check images clean

help: ## List the targets and where the code is
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'
	@echo; echo "Where the code is (README \"How it works\"):"
	@sed -n 's/^#> //p' $(MAKEFILE_LIST)

#> bot/rasa_server/   loaded by the Rasa server (Python 3.10, .venv-rasa): channels, intent classifier, tracker store
#> actions/           the one rasa-sdk action (action server, Python 3.11, .venv): tracker -> Turn -> Reply
#> bot/conversation/  the assistant: turn and reply types, per-turn reading, answers, understanding, reply wording
#> bot/safety/        the safety screen; its reviewed word lists and exemplars in bot/safety/data/
#> bot/nlp/           spaCy pipeline, medicine-name matcher, pattern notation
#> bot/knowledge/     the knowledge base (content/*.yml), validation, kb-audit, kb-sync
#> bot/handoff/       tickets (SQLite/PostgreSQL + spool), staff notification outbox, clinic hours
#> bot/staff/, bot/portal/  staff inbox and API; demo patient portal with the widget
#> bot/ops/           local stack, purge, terminal chat, nginx entry  bot/quality/  eval, calibrate, bench, NLU report
#> deploy/            compose, Kubernetes, nginx template (deploy/nginx/), images, SCALING.md
#> tests/             mirrors bot/; tests/rasa_server runs in .venv-rasa (make channels), the rest in .venv

$(VENV)/.installed: requirements/actions.txt
	@test -n "$(PY311)" || { echo "Python 3.11 not found under $(PYENV_ROOT)/versions"; exit 1; }
	test -x $(PY) || $(PY311) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip wheel
	$(PY) -m pip install -q -r requirements/actions.txt
	touch $@

$(RASA_VENV)/.installed: requirements/rasa.txt requirements/rasa-test.txt
	@test -n "$(PY310)" || { echo "Python 3.10 not found under $(PYENV_ROOT)/versions"; exit 1; }
	test -x $(RASA_VENV)/bin/python || $(PY310) -m venv $(RASA_VENV)
	$(RASA_VENV)/bin/python -m pip install -q --upgrade pip wheel
	$(RASA_VENV)/bin/python -m pip install -q -r requirements/rasa.txt -r requirements/rasa-test.txt
	touch $@

setup: $(VENV)/.installed $(RASA_VENV)/.installed var/tls/entry.crt ## Create both environments (first use only)

machine: ## Install nginx and Chromium if missing, start PostgreSQL and Redis if down (scripts/machine.sh)
	@scripts/machine.sh

# The nginx entry point's self-signed certificate for local runs (make run-prod, tests/prod); private.
var/tls/entry.crt: | $(VENV)/.installed
	$(PY) -m bot.ops.nginx cert

# The sentence encoder's ONNX export, for the Rasa intent classifier (training copies it into the model).
$(ENCODER): | $(VENV)/.installed
	$(PY) -m bot.encoder export $(dir $@)

# Retrains only when the training data, config, domain or intent classifier changed.
$(MODEL): $(TRAINING) | $(RASA_VENV)/.installed $(ENCODER)
	$(RASA) train --data data --config config.yml --domain domain.yml --out models --fixed-model-name eczema

run: setup $(MODEL) ## Serve the bot on 127.0.0.1:5005 (REST), staff inbox on :8000; Ctrl-C stops
	$(PY) -m bot.ops.stack

run-prod: machine setup $(MODEL) ## Production profile: PostgreSQL + Redis, 2 Rasa replicas behind nginx (TLS) on :5005
	$(PY) -m bot.ops.stack --prod

prod-test: machine setup $(MODEL) ## Production-profile tests on the local PostgreSQL and Redis (also part of make test)
	$(PY) -m pytest tests/prod -q

chat: setup ## Terminal chat with the bot started by `make run`
	$(PY) -m bot.ops.chat

lint: setup ## ruff; mypy on bot/rasa_server in the Rasa environment (3.10) and on the rest in .venv (3.11)
	$(VENV)/bin/ruff check bot actions tests
	$(VENV)/bin/ruff format --check bot actions tests
	$(RASA_VENV)/bin/mypy --python-version 3.10 bot/rasa_server bot/encoder.py bot/constants.py
	$(VENV)/bin/mypy bot actions --exclude '^bot/rasa_server/'

validate: setup ## rasa data validate --fail-on-warnings
	@install -d -m 700 var
	$(RASA) data validate --data data --config config.yml --domain domain.yml --fail-on-warnings

channels: setup $(ENCODER) ## tests/rasa_server inside the Rasa environment (channels, classifier, tracker store)
	$(RASA_VENV)/bin/python -m pytest tests/rasa_server --confcutdir=tests/rasa_server -p no:cacheprovider

unit: machine setup $(MODEL) ## pytest: every test, servers and browser included
	$(PY) -m pytest

stories: setup $(MODEL) ## Rasa test stories on the trained model
	@install -d -m 700 var
	$(RASA) test core --model $(MODEL) --stories tests/test_stories.yml --fail-on-prediction-errors --out var/results/core

security: setup ## pip-audit of both environments and bandit on bot/ and actions/ (accepted findings: security/allow.yml)
	$(PY) -m bot.ops.security $(SECURITY_FLAGS)

# Debian's tools for deploy-check, each installed only when its command is missing (kubectl usually comes with
# the machine; Debian's kubernetes-client is the fallback). The wait covers another apt run holding the lock.
DEPLOY_TOOLS := nginx:nginx-light promtool:prometheus kubectl:kubernetes-client
deploy-tools: ## Install the Debian tools deploy-check needs (nginx, promtool, kubectl) when missing
	@missing=""; for pair in $(DEPLOY_TOOLS); do command -v $${pair%%:*} >/dev/null || missing="$$missing $${pair#*:}"; done; \
	if [ -n "$$missing" ]; then \
	  apt-get -o DPkg::Lock::Timeout=600 update -qq && apt-get -o DPkg::Lock::Timeout=600 install -y -qq $$missing; fi

deploy-check: setup deploy-tools ## Check deploy/ offline: k8s schemas, hadolint, compose spec, nginx -t, promtool, yamllint
	$(PY) -m bot.ops.deploy_check $(if $(DEPLOY_ROOT),--root $(DEPLOY_ROOT))

# Daemonless image builds (buildah, vfs storage); needs the base images' registry, which these machines don't reach.
images: setup $(MODEL) $(ENCODER) ## Build both images with buildah (not part of make test)
	command -v buildah >/dev/null || apt-get -o DPkg::Lock::Timeout=600 install -y -qq buildah
	buildah --storage-driver vfs bud -f deploy/rasa.Dockerfile -t eczema-med-bot-rasa .
	buildah --storage-driver vfs bud -f deploy/app.Dockerfile -t eczema-med-bot-app .

test: machine setup $(MODEL) lint security deploy-check validate stories channels unit ## Set up and run every test

eval: setup $(MODEL) ## End-to-end evaluation through the REST channel (starts the bot if needed)
	$(PY) -m bot.quality.evaluate

nlu-report: setup $(ENCODER) ## 5-fold NLU cross-validation with the per-intent table
	$(RASA) test nlu --nlu data --config config.yml --cross-validation --folds 5 --out var/results/nlu
	$(PY) -m bot.quality.nlu_report var/results/nlu

topic-reader: setup $(MODEL) ## Refit the topic reader's weights on the public dev sets (bot/conversation/topics.yml)
	$(PY) -m bot.quality.topic_fit texts var/topic-texts.json
	PYTHONPATH=. $(RASA_VENV)/bin/python -m bot.rasa_server.parse_texts $(MODEL) var/topic-texts.json var/topic-rankings.json
	$(PY) -m bot.quality.topic_fit fit var/topic-rankings.json

calibrate: setup ## Calibrate the retrieval thresholds on tests/eval (writes docs/calibration.md)
	$(PY) -m bot.quality.calibrate

kb-audit: setup ## List facts, medicine safety attributes and safety data not reviewed within KB_REVIEW_DAYS (365)
	$(PY) -m bot.knowledge.audit

kb-sync: setup ## Regenerate data/nlu/drug_names.yml from the knowledge base
	$(PY) -m bot.knowledge.export

bench: setup $(MODEL) ## Benchmark against a bare `rasa init` bot (latency, throughput, memory, start-up; var/bench.json)
	$(PY) -m bot.quality.bench

purge: setup ## Delete conversations and tickets older than RETENTION_DAYS (90), audit entries past AUDIT_RETENTION_DAYS (2190)
	$(PY) -m bot.ops.purge

# Asks for the values; the password is asked for (twice) by the command itself and never echoed.
staff-add: setup ## Create a staff account (asks username, name, role, password); prints the TOTP setup URI
	@read -r -p "Username: " user && read -r -p "Display name: " name && \
	  read -r -p "Role (staff, clinician, admin): " role && \
	  $(PY) -m bot.staff.accounts add "$$user" --name "$$name" --role "$$role"

gaps: setup ## Questions the handouts didn't answer, per medicine and aspect (last DAYS=90 days)
	$(PY) -m bot.ops.gaps $(if $(DAYS),--days $(DAYS))

clean: ## Remove trained models, caches and local data
	rm -rf models var .pytest_cache .mypy_cache .ruff_cache
