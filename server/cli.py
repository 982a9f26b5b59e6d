"""The command line: `python -m server serve|migrate|create-admin`."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from aiohttp import web

from server.config import Config, ConfigError, default_config_path, load_config

log = logging.getLogger("micromentor")
ACCESS_LOG_FORMAT = '%a "%r" %s %b %Tf "%{User-Agent}i" request_id=%{X-Request-Id}o'


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        config = load_config(args.config if args.config else default_config_path())
    except ConfigError as exc:
        print(f"micromentor: configuration error: {exc}", file=sys.stderr)
        return 2
    setup_logging(config)
    result: int = args.run(config, args)
    return result


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--config",
        type=Path,
        default=None,
        help="config file (default: $MICROMENTOR_CONFIG, else ./config.toml if present)",
    )
    parser = argparse.ArgumentParser(prog="python -m server", description="micromentor server")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", parents=[common], help="migrate, then serve the app")
    serve.set_defaults(run=run_serve)

    migrate = commands.add_parser("migrate", parents=[common], help="apply database migrations")
    migrate.set_defaults(run=run_migrate)

    admin = commands.add_parser(
        "create-admin",
        parents=[common],
        help="create an administrator, or make an existing user one",
    )
    admin.add_argument("email")
    admin.add_argument("--password", help="asked for when not given (not for existing users)")
    admin.add_argument("--name", help="display name (default: the part of the email before @)")
    admin.set_defaults(run=run_create_admin)

    demo = commands.add_parser(
        "demo-call",
        parents=[common],
        help="create demo mentor and mentee accounts and a call starting now; print the links",
    )
    demo.add_argument("--json", action="store_true", help="print one JSON object")
    demo.add_argument(
        "--record", action="store_true", help="the call offers recording (both must agree)"
    )
    demo.set_defaults(run=run_demo_call)

    catalogue = commands.add_parser(
        "demo-data",
        parents=[common],
        help="add a small demo catalogue of approved mentors (marked Demo); --remove takes it away",
    )
    catalogue.add_argument("--remove", action="store_true", help="remove the demo catalogue")
    catalogue.set_defaults(run=run_demo_data)

    turn_config = commands.add_parser(
        "turn-config", parents=[common], help="print coturn's turnserver.conf for this config"
    )
    turn_config.set_defaults(run=run_turn_config)
    return parser


def setup_logging(config: Config) -> None:
    logging.basicConfig(
        level=config.server.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)


def run_serve(config: Config, _args: argparse.Namespace) -> int:
    from server.app import create_app

    app = create_app(config)
    print(f"micromentor: serving on {config.public_url}  (Ctrl+C stops)", flush=True)
    web.run_app(
        app,
        host=config.server.host,
        port=config.server.port,
        access_log_format=ACCESS_LOG_FORMAT,
        print=None,
        shutdown_timeout=10,
    )
    return 0


def run_migrate(config: Config, _args: argparse.Namespace) -> int:
    from server.db.engine import Database
    from server.db.migrate import head_revision, upgrade

    async def migrate() -> None:
        db = Database(config.database_url, busy_timeout_ms=config.database.busy_timeout_ms)
        try:
            await upgrade(db)
        finally:
            await db.close()

    asyncio.run(migrate())
    print(f"micromentor: database at revision {head_revision()}")
    return 0


def run_create_admin(config: Config, args: argparse.Namespace) -> int:
    from server.accounts.passwords import Passwords
    from server.accounts.service import Accounts
    from server.clock import utc_now
    from server.db.engine import Database
    from server.db.migrate import upgrade
    from server.http.schema import BodyError

    async def create() -> int:
        db = Database(config.database_url, busy_timeout_ms=config.database.busy_timeout_ms)
        try:
            await upgrade(db)
            accounts = Accounts(db, Passwords(), config.auth, utc_now)
            password = args.password
            if password is None and await accounts.by_email(args.email) is None:
                password = ask_password()
            user = await accounts.make_admin(args.email, password, args.name)
        except BodyError as exc:
            print(f"micromentor: {exc}", file=sys.stderr)
            return 1
        finally:
            await db.close()
        print(f"micromentor: {user.email} is an administrator")
        return 0

    return asyncio.run(create())


def ask_password() -> str:
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("Password for the new administrator: ")
    if getpass.getpass("Again: ") != first:
        raise SystemExit("micromentor: the passwords differ; nothing was created")
    return first


def run_demo_call(config: Config, args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from server.accounts.passwords import Passwords
    from server.accounts.service import Accounts
    from server.calls.demo import create_demo_call
    from server.clock import utc_now
    from server.db.engine import Database
    from server.db.migrate import upgrade
    from server.keys import derive, load_or_create

    async def create() -> dict[str, object]:
        db = Database(config.database_url, busy_timeout_ms=config.database.busy_timeout_ms)
        try:
            await upgrade(db)
            accounts = Accounts(db, Passwords(), config.auth, utc_now)
            secret = config.server.secret_key or load_or_create(config.data_dir / "secret_key")
            demo = await create_demo_call(
                accounts, config, derive(secret, "demo login"), record=args.record
            )
        finally:
            await db.close()
        return asdict(demo)

    demo = asyncio.run(create())
    if args.json:
        print(json.dumps(demo))
        return 0
    mentor, mentee, urls = demo["mentor"], demo["mentee"], demo["urls"]
    assert isinstance(mentor, dict) and isinstance(mentee, dict) and isinstance(urls, dict)
    print(f"""Demo call #{demo["booking_id"]} is ready; it starts when both sides have joined.

Open these two links in two tabs (they log you in; with `make run` still serving):
  mentor: {urls["mentor"]}
  mentee: {urls["mentee"]}

Or log in by hand:
  mentor: {mentor["email"]}  password {mentor["password"]}
  mentee: {mentee["email"]}  password {mentee["password"]}
""")
    return 0


def run_demo_data(config: Config, args: argparse.Namespace) -> int:
    from server.accounts.passwords import Passwords
    from server.accounts.service import Accounts
    from server.booking.bookings import Bookings
    from server.booking.demo import create_catalogue, remove_catalogue
    from server.booking.mentors import Mentors
    from server.clock import utc_now
    from server.db.engine import Database
    from server.db.migrate import upgrade

    async def run() -> str:
        db = Database(config.database_url, busy_timeout_ms=config.database.busy_timeout_ms)
        try:
            await upgrade(db)
            bookings = Bookings(db, config.booking, config.calls, clock=utc_now)
            mentors = Mentors(
                db,
                bookings,
                clock=utc_now,
                default_price_paise=config.billing.price_paise,
                photo_dir=config.data_dir / "photos",
            )
            if args.remove:
                deleted, unlisted = await remove_catalogue(mentors)
                return (
                    f"Demo catalogue removed: {deleted} mentor(s) deleted, {unlisted} with "
                    "bookings unlisted (their bookings and money stay)."
                )
            accounts = Accounts(db, Passwords(), config.auth, utc_now)
            made = await create_catalogue(accounts, mentors)
            names = ", ".join(u.name for u in made)
            return (
                f"Demo catalogue ready: {len(made)} approved mentors ({names}), marked Demo on "
                "their pages. Remove it with `python -m server demo-data --remove`."
            )
        finally:
            await db.close()

    print(asyncio.run(run()))
    return 0


def run_turn_config(config: Config, _args: argparse.Namespace) -> int:
    from server.keys import load_or_create
    from turn.coturn import turnserver_conf

    secret = config.turn.secret or load_or_create(config.data_dir / "turn_secret")
    sfu = list(config.media.ice_addresses) or (
        [config.media.public_ip] if config.media.public_ip else []
    )
    print(turnserver_conf(config.turn, secret, sfu_addresses=sfu), end="")
    return 0
