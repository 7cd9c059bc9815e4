"""A real SMTP server for the delivery tests (runtime/tests/smtp.rs), on loopback only.

    python3 server.py serve --port PORT --folder DIR [--user U --password P]
        Listens on 127.0.0.1:PORT (no TLS) and prints `ready` once it accepts connections.
        Each message is written as DIR/NNNN.eml (the bytes as received, after the DATA
        dot-unstuffing) beside DIR/NNNN.json (the envelope: mail_from, rcpt_tos, login).
        Recipients whose local part starts with `tempfail` get `451` (try again later), those
        starting with `reject` get `550 5.1.1` (no such user). With --user and --password,
        AUTH PLAIN and LOGIN are offered without TLS and required before MAIL.

    python3 server.py verify --dns FILE MESSAGE
        Verifies the DKIM signature of MESSAGE with the TXT record in FILE as the selector's
        DNS answer; exits 0 and prints `pass` when it holds.

Needs `pip install aiosmtpd==1.4.6 dkimpy==1.1.8`.
"""

import argparse
import itertools
import json
import logging
import os
import sys
import threading
import warnings


def serve(args):
    # AUTH without TLS is the point here (loopback), and aiosmtpd's deprecation notes are noise.
    warnings.simplefilter("ignore")
    logging.getLogger("mail.log").setLevel(logging.ERROR)
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword

    counter = itertools.count(1)

    def write(path, data):
        # Atomic: the test never sees half a file.
        temporary = path + ".tmp"
        with open(temporary, "wb") as file:
            file.write(data)
        os.replace(temporary, path)

    class Handler:
        async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
            local = address.split("@")[0].lower()
            if local.startswith("tempfail"):
                return "451 4.3.0 Mailbox temporarily unavailable, try again later"
            if local.startswith("reject"):
                return "550 5.1.1 No such user here"
            envelope.rcpt_tos.append(address)
            return "250 OK"

        async def handle_DATA(self, server, session, envelope):
            base = os.path.join(args.folder, "%04d" % next(counter))
            auth = getattr(session, "auth_data", None)
            login = auth.login.decode() if isinstance(auth, LoginPassword) else None
            side = {
                "mail_from": envelope.mail_from,
                "rcpt_tos": envelope.rcpt_tos,
                "login": login,
            }
            write(base + ".json", json.dumps(side).encode())
            write(base + ".eml", envelope.original_content)
            return "250 2.0.0 Message accepted"

    def authenticator(server, session, envelope, mechanism, auth_data):
        good = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login == args.user.encode()
            and auth_data.password == args.password.encode()
        )
        return AuthResult(success=good, handled=False, auth_data=auth_data)

    options = {}
    if args.user is not None:
        options = {
            "authenticator": authenticator,
            "auth_required": True,
            "auth_require_tls": False,
        }
    os.makedirs(args.folder, exist_ok=True)
    controller = Controller(Handler(), hostname="127.0.0.1", port=args.port, **options)
    controller.start()
    print("ready", flush=True)
    # Serve until killed.
    threading.Event().wait()


def verify(args):
    import dkim

    with open(args.dns, "rb") as file:
        record = file.read().strip()
    with open(args.message, "rb") as file:
        message = file.read()

    def dns(name, timeout=5):
        return record

    checker = dkim.DKIM(message)
    try:
        good = checker.verify(dnsfunc=dns)
    except dkim.DKIMException as error:
        print("fail: %s" % error)
        return 1
    print("pass" if good else "fail")
    return 0 if good else 1


def main():
    parser = argparse.ArgumentParser()
    commands = parser.add_subparsers(dest="command", required=True)
    server = commands.add_parser("serve")
    server.add_argument("--port", type=int, required=True)
    server.add_argument("--folder", required=True)
    server.add_argument("--user")
    server.add_argument("--password")
    checker = commands.add_parser("verify")
    checker.add_argument("--dns", required=True)
    checker.add_argument("message")
    args = parser.parse_args()
    if args.command == "serve":
        serve(args)
        return 0
    return verify(args)


if __name__ == "__main__":
    sys.exit(main())
