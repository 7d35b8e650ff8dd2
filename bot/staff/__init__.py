"""Staff inbox: a small Sanic app where clinic staff see, claim and resolve handoff tickets (bot/staff/app.py).

Nothing is imported here, so ``python -m bot.staff.accounts`` runs its module once.
"""
