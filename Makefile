# `make app`: set up and run the app on the built-in demo kit (http://127.0.0.1:7860).
# `make test`: set up and run the whole test suite (what CI runs).
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: app test setup system-deps

# Each step says what it does first: the first set-up downloads several GB and takes minutes.
$(VENV)/.installed: pyproject.toml
	@echo "==> creating the virtual environment in $(VENV) (once)"
	python3 -m venv $(VENV)
	@echo "==> upgrading pip"
	$(PY) -m pip install --progress-bar off -q --upgrade pip
	@echo "==> installing PyTorch, diffusers, transformers, gradio and the test tools into $(VENV)"
	@echo "    (about 7 GB on disk and several minutes the first time; later runs reuse them)"
	$(PY) -m pip install --progress-bar off -e '.[test]'
	@echo "==> set-up done; rerun only when pyproject.toml changes"
	touch $@

system-deps:
	@bash scripts/install_system_deps.sh $(SYSTEM_DEPS_FLAGS)

setup: system-deps $(VENV)/.installed

app: setup
	@echo "==> starting the app on the demo kit: http://127.0.0.1:7860 (Ctrl-C stops it)"
	GRADIO_ANALYTICS_ENABLED=False $(PY) app.py

test: SYSTEM_DEPS_FLAGS = --with-browser
test: setup
	@GRADIO_ANALYTICS_ENABLED=False $(PY) -m pytest $(PYTEST_ARGS); rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo "error: pytest collected no tests" >&2; fi; exit $$rc
