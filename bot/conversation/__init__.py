"""One conversation turn: types, the assistant, answers, understanding and reply wording."""
