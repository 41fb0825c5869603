#!/usr/bin/env python3
"""Run SIPVicious svwar (PyPI sipvicious, `sipvicious_svwar`) with its -b/--bindingip honoured.

svwar 0.3.8 parses -b/--bindingip but its main() never hands the value to TakeASip, so the
socket binds to 0.0.0.0 (falling back to port 5061 when anything holds a 5060) and the kernel
sends from 127.0.0.1, whatever -b says. This wrapper passes the parsed -b value on to TakeASip
(which then also puts that address in Via and in the SDP, as a working -b does) and runs svwar's
own main(), the entry point of `sipvicious_svwar`, with the same arguments.
Nothing else of svwar changes: requests, User-Agent, pacing and output are the tool's. If a later
svwar passes bindingip itself, the wrapper leaves it alone.

Usage (scripts/make-detect-pcaps.sh svwar-invite):
    svwar-bound.py [sipvicious_svwar options] target
"""
import sys

from sipvicious import svwar

parsed = {}


class _Parser(svwar.ArgumentParser):
    def parse_args(self, *args, **kwargs):
        options, rest = super().parse_args(*args, **kwargs)
        parsed["bindingip"] = getattr(options, "bindingip", "") or ""
        return options, rest


_init = svwar.TakeASip.__init__


def _bound_init(self, *args, **kwargs):
    kwargs.setdefault("bindingip", parsed.get("bindingip", ""))
    _init(self, *args, **kwargs)


svwar.ArgumentParser = _Parser
svwar.TakeASip.__init__ = _bound_init

if __name__ == "__main__":
    sys.argv[0] = "sipvicious_svwar"
    sys.exit(svwar.main())
