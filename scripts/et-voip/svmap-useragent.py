#!/usr/bin/env python3
"""Run SIPVicious svmap (PyPI sipvicious, `sipvicious_svmap`) with another User-Agent.

svmap 0.3.8 has no option for its User-Agent: every request it builds goes through
sipvicious.libs.svhelper.makeRequest, whose `useragent` argument defaults to
"friendly-scanner" and which svmap calls without it. ET sid 2012296 ("ET VOIP Modified
Sipvicious Asterisk PBX User-Agent", reference
blog.sipvicious.org/2010/11/distributed-sip-scanning-during.html) looks for SIPVicious with
that string changed to "Asterisk PBX". This wrapper makes that one change at run time: it
takes --user-agent=STRING off the command line, makes svmap's makeRequest pass that string as
the default `useragent`, and runs svmap's own main(), the entry point of `sipvicious_svmap`,
with the remaining arguments. Nothing else of svmap changes: request line, headers and their
order, From/To, tags, Call-ID, pacing and output are the tool's.

Usage (scripts/make-et-voip-pcaps.sh sipvicious-modified-ua):
    svmap-useragent.py --user-agent='Asterisk PBX' [sipvicious_svmap options] target
"""
import functools
import sys

from sipvicious import svmap


def main():
    ua = None
    rest = [sys.argv[0]]
    args = iter(sys.argv[1:])
    for a in args:
        if a.startswith("--user-agent="):
            ua = a.split("=", 1)[1]
        elif a == "--user-agent":
            ua = next(args, None)
        else:
            rest.append(a)
    if not ua:
        sys.exit("svmap-useragent.py: --user-agent=STRING is required")
    svmap.makeRequest = functools.partial(svmap.makeRequest, useragent=ua)
    sys.argv = ["sipvicious_svmap"] + rest[1:]
    return svmap.main()


if __name__ == "__main__":
    sys.exit(main())
