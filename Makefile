# make                      build the release binary (as yourself)
# sudo make install         install it (PREFIX, DESTDIR, SYSCONFDIR; BIN= a binary to install)
# sudo make uninstall       remove it (keeps a changed config, your rules and the logs)
# make test                 the whole test suite (scripts/test.sh)
PREFIX ?= /usr/local
DESTDIR ?=
SYSCONFDIR ?= /etc
CARGO ?= cargo
# The binary `make` built, so that `sudo make install` does not build again as root.
BIN ?= $(wildcard $(or $(CARGO_TARGET_DIR),target)/release/voip-sentinel)

INSTALL_ARGS = --prefix "$(PREFIX)" --destdir "$(DESTDIR)" --sysconfdir "$(SYSCONFDIR)"

.PHONY: all install uninstall test

all:
	$(CARGO) build --release --locked

install:
	@if [ "$(origin BIN)" = file ] && [ -n "$(BIN)" ] && [ -n "$$(find src Cargo.toml Cargo.lock -newer "$(BIN)" | head -1)" ]; then \
		echo "$(BIN) is older than the sources: run make first" >&2; exit 1; fi
	scripts/install.sh $(INSTALL_ARGS) $(if $(BIN),--bin "$(BIN)")

uninstall:
	scripts/install.sh --uninstall $(INSTALL_ARGS)

test:
	scripts/test.sh
