# `make app`: set up and run the app on the built-in demo kit (http://127.0.0.1:7860).
# `make test`: set up and run the whole test suite (what CI runs).
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: app test setup system-deps

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $@

system-deps:
	@bash scripts/install_system_deps.sh $(SYSTEM_DEPS_FLAGS)

setup: system-deps $(VENV)/.installed

app: setup
	GRADIO_ANALYTICS_ENABLED=False $(PY) app.py

test: SYSTEM_DEPS_FLAGS = --with-browser
test: setup
	@GRADIO_ANALYTICS_ENABLED=False $(PY) -m pytest $(PYTEST_ARGS); rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo "error: pytest collected no tests" >&2; fi; exit $$rc
