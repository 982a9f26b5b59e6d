"""The app factory: builds every part from the config and wires them together."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from datetime import timedelta

from aiohttp import web
from aiortc import RTCIceServer

from billing.gateway import PaymentGateway, RazorpayGateway
from billing.ledger import SplitRules
from media.timer import Sleep
from server.accounts import api as accounts_api
from server.accounts import pages as accounts_pages
from server.accounts.passwords import Passwords
from server.accounts.service import ACCOUNTS, Accounts
from server.admin import api as admin_api
from server.admin import console_api, console_pages
from server.admin import pages as admin_pages
from server.admin.records import RECORDS, Records
from server.admin.reports import REPORTS, Reports
from server.admin.users import USER_ADMIN, UserAdmin
from server.assistant import api as assistant_api
from server.assistant.service import ASSISTANT, Assistant
from server.booking import bookings_api, mentors_api
from server.booking import pages as booking_pages
from server.booking.bookings import BOOKINGS, CHECKOUT, JOIN_EARLY, SPONSORSHIP, Bookings
from server.booking.mentors import MENTORS, Mentors
from server.calls import api as calls_api
from server.calls import pages as calls_pages
from server.calls.api import CALL_HUB, CHATS, JOIN_KEY, TURN_SECRET
from server.calls.demo import DEMO_KEY
from server.calls.service import CALLS, Calls
from server.clock import Clock, utc_now
from server.cluster.nodes import CLUSTER, Cluster
from server.community import admin_pages as community_admin_pages
from server.community import api as community_api
from server.community import pages as community_pages
from server.community.service import COMMUNITIES, Communities
from server.config import CONFIG, Config
from server.conversations import api as conversations_api
from server.conversations import live as conversations_live
from server.conversations import pages as conversations_pages
from server.conversations.service import CONVERSATIONS, Conversations
from server.credits import api as credits_api
from server.credits import pages as credits_pages
from server.credits.service import CREDITS, Credits
from server.db.engine import DATABASE, Database
from server.db.migrate import upgrade
from server.discovery import api as discovery_api
from server.discovery import pages as discovery_pages
from server.discovery.service import DISCOVERY, Discovery
from server.disputes import api as disputes_api
from server.disputes import pages as disputes_pages
from server.disputes.service import DISPUTES, Disputes
from server.http import pages as site_pages
from server.http.errors import HTML_ERRORS, error_middleware
from server.http.headers import security_headers
from server.http.requests import PROXIES, Proxies
from server.http.routes import add_routes
from server.http.security import (
    LOGINS,
    SITE_ORIGINS,
    csrf_middleware,
    install_sessions,
    user_middleware,
)
from server.http.templating import TEMPLATES, Templates
from server.keys import derive, load_or_create
from server.live import LIVE, LiveHub, menu_badges
from server.notifications import api as notifications_api
from server.notifications import pages as notifications_pages
from server.notifications.service import NOTIFICATIONS, Notifications
from server.notifications.smtp import smtp_sender
from server.operations import health, heap, metrics_api
from server.operations.metrics import METRICS, Metrics, http_metrics
from server.payments import pages as payments_pages
from server.payments import payments_api, payouts_api
from server.payments.money import MONEY, Money
from server.payments.payouts import PAYOUTS, Payouts
from server.payments.simulator import SimulatedGateway
from server.recordings import api as recordings_api
from server.recordings import pages as recordings_pages
from server.recordings.service import RECORDINGS, Recordings
from server.reviews import api as reviews_api
from server.reviews import pages as reviews_pages
from server.reviews.service import REVIEWS, Reviews
from signaling.connection import CallHub
from turn.credentials import ephemeral, turn_urls

log = logging.getLogger("micromentor")

# How long shutting down waits for a notifications round in progress.
NOTIFICATIONS_STOP_SECONDS = 30
# JSON bodies and forms are small; a larger body is refused before it is read.
MAX_BODY_BYTES = 256 * 1024


def create_app(
    config: Config,
    *,
    clock: Clock = utc_now,
    sleep: Sleep = asyncio.sleep,
    passwords: Passwords | None = None,
) -> web.Application:
    app = web.Application(
        middlewares=[security_headers, error_middleware], client_max_size=MAX_BODY_BYTES
    )
    app[CONFIG] = config

    secret = config.server.secret_key or load_or_create(config.data_dir / "secret_key")
    install_sessions(
        app, secret, secure=config.secure_cookies, max_age=config.auth.login_days * 86400
    )
    app.middlewares.extend([http_metrics, user_middleware, csrf_middleware])

    db = Database(config.database_url, busy_timeout_ms=config.database.busy_timeout_ms)
    app[DATABASE] = db
    accounts = Accounts(db, passwords or Passwords(), config.auth, clock)
    app[ACCOUNTS] = accounts
    app[LOGINS] = accounts
    app[PROXIES] = Proxies(config.server.trusted_proxies)
    templates = Templates()
    templates.hooks.extend([menu_badges, disputes_pages.dashboard_disputes])
    app[TEMPLATES] = templates
    app[HTML_ERRORS] = site_pages.error_page
    app.cleanup_ctx.append(_database)

    bookings = Bookings(db, config.booking, config.calls, clock=clock)
    app[BOOKINGS] = bookings
    app[MENTORS] = Mentors(
        db,
        bookings,
        clock=clock,
        default_price_paise=config.billing.price_paise,
        photo_dir=config.data_dir / "photos",
    )
    app[JOIN_EARLY] = timedelta(minutes=config.booking.join_early_minutes)
    money = Money(
        db,
        _gateway(config, db, clock),
        SplitRules(
            config.billing.mentor_share_percent,
            config.billing.gst_percent,
            config.billing.pay_mentor_on_mentee_no_show,
        ),
        clock=clock,
    )
    app[MONEY] = money
    app[CHECKOUT] = money
    credits = Credits(
        db,
        money,
        config.credits,
        config.accounts.campus_domains,
        clock=clock,
        base_url=config.public_url,
    )
    app[CREDITS] = credits
    app[SPONSORSHIP] = credits  # free calls and credits pay bookings instead of a card
    templates.hooks.append(credits_pages.credits_of_viewer)

    payouts = Payouts(money, config.billing, derive(secret, "payout details"), clock=clock)
    app[PAYOUTS] = payouts
    recordings = Recordings(
        db, config.recording_dir, retention_days=config.recording.retention_days, clock=clock
    )
    app[RECORDINGS] = recordings

    async def sweep() -> None:
        async with db.job_lock("sweep") as mine:  # of several nodes, one at a time
            if mine:
                await bookings.expire_holds()
                await accounts.purge_sessions()
                await money.reconcile()
                await payouts.weekly_batch()
                await recordings.sweep()  # retention: at most once an hour
        app[METRICS].bookings_due_without_room.set(await calls.due_without_room())
        app[METRICS].job_done("sweep")
        heap.trim()  # what ended calls freed goes back to the system

    turn_secret = config.turn.secret or load_or_create(config.data_dir / "turn_secret")
    app[TURN_SECRET] = turn_secret
    calls = Calls(
        db,
        config.calls,
        config.media,
        clock=clock,
        sleep=sleep,
        join_early=app[JOIN_EARLY],
        on_sweep=sweep,
        on_outcome=money.outcome,
        sfu_ice_servers=_sfu_turn(config, turn_secret, clock)
        if config.turn.enabled and config.turn.sfu_relay
        else None,
        observers=[lambda event: app[METRICS].on_room_event(event)],
        recording=config.recording,
        recording_dir=config.recording_dir,
    )
    cluster = Cluster(
        db,
        config.cluster,
        url=config.public_url,
        ice_addresses=config.media.ice_addresses,
        clock=clock,
        open_calls=lambda: len(calls.rooms),
    )
    app[CLUSTER] = calls.cluster = cluster
    app[SITE_ORIGINS] = cluster.origins
    app.cleanup_ctx.append(lambda _app: cluster.run())
    live = LiveHub()
    app[LIVE] = live
    notifications = Notifications(
        db,
        config.notifications,
        clock=clock,
        base_url=config.public_url,
        sender=config.email.from_address,
        unsubscribe_key=derive(secret, "unsubscribe"),
        send=smtp_sender(config.email),
        live=live,
    )
    app[NOTIFICATIONS] = notifications
    conversations = Conversations(
        db,
        clock=clock,
        files=config.data_dir / "attachments",
        digest_after=timedelta(minutes=config.notifications.digest_minutes),
        live=live,
    )
    app[CONVERSATIONS] = conversations
    app[CHATS] = conversations  # the call's chat is the booking's conversation
    live.greeters.extend([conversations.unread_counts, notifications.unread_counts])
    assistant = Assistant(
        db, config.assistant, conversations, clock=clock, key=derive(secret, "assistant draft")
    )
    app[ASSISTANT] = assistant
    templates.env.globals["assistant_offers"] = assistant.offers  # none when it is off
    app.on_cleanup.append(lambda _app: assistant.close())
    app.cleanup_ctx.append(_notifications_worker)
    app[REVIEWS] = Reviews(db, clock=clock)
    app[DISCOVERY] = Discovery(db, clock=clock)
    app[COMMUNITIES] = Communities(db, clock=clock, cover_dir=config.data_dir / "covers")
    templates.hooks.extend([community_pages.mentor_posts, community_pages.admin_waiting])
    app[DISPUTES] = Disputes(db, money, clock=clock)
    templates.env.globals["disputable"] = app[DISPUTES].disputable  # "Report a problem" links
    templates.env.globals["has_recording"] = recordings.exists  # "Watch the recording" links
    app[USER_ADMIN] = UserAdmin(db, accounts, bookings, money, live, clock=clock)
    app[RECORDS] = Records(db)
    app[REPORTS] = Reports(db, clock=clock)
    app[METRICS] = Metrics(calls.rooms, calls.workers)
    app[METRICS].cluster_nodes.set_function(lambda: cluster.live_count)
    app[CALLS] = calls
    app[CALL_HUB] = CallHub()
    app[JOIN_KEY] = derive(secret, "join token")
    app[DEMO_KEY] = derive(secret, "demo login")
    app.cleanup_ctx.append(lambda _app: calls.run())
    # Stopping: first leave the cluster, so the pages' retries place their calls on a live
    # node at once, then end this node's calls (server_shutdown: the pages retry).
    app.on_shutdown.append(lambda _app: cluster.leave())
    app.on_shutdown.append(lambda _app: calls.shutdown())
    app.on_shutdown.append(lambda _app: live.close_all())

    add_routes(
        app,
        [
            *health.routes,
            *metrics_api.routes,
            *accounts_api.routes,
            *accounts_pages.routes,
            *mentors_api.routes,
            *bookings_api.routes,
            *booking_pages.routes,
            *payments_api.routes,
            *payouts_api.routes,
            *payments_pages.routes,
            *credits_api.routes,
            *credits_pages.routes,
            *calls_api.routes,
            *calls_pages.routes,
            *conversations_api.routes,
            *conversations_live.routes,
            *conversations_pages.routes,
            *assistant_api.routes,
            *notifications_api.routes,
            *notifications_pages.routes,
            *reviews_api.routes,
            *reviews_pages.routes,
            *discovery_api.routes,
            *discovery_pages.routes,
            *community_api.routes,
            *community_pages.routes,
            *community_admin_pages.routes,
            *disputes_api.routes,
            *disputes_pages.routes,
            *recordings_api.routes,
            *recordings_pages.routes,
            *admin_api.routes,
            *admin_pages.routes,
            *console_api.routes,
            *console_pages.routes,
            *site_pages.routes,
        ],
    )
    return app


def _sfu_turn(config: Config, secret: str, clock: Clock) -> Callable[[], list[RTCIceServer]]:
    """TURN for the SFU's own peer connections, with credentials minted per room."""
    settings = config.turn

    def servers() -> list[RTCIceServer]:
        expires = clock() + timedelta(seconds=settings.ttl_seconds)
        credential = ephemeral(secret, "sfu", int(expires.timestamp()))
        urls = turn_urls(settings.host, settings.port, 0)[:1]  # UDP to coturn beside us
        return [
            RTCIceServer(urls=urls, username=credential.username, credential=credential.password)
        ]

    return servers


def _gateway(config: Config, db: Database, clock: Clock) -> PaymentGateway:
    """Razorpay when keys are configured; otherwise the local test-payment simulator."""
    billing = config.billing
    if billing.uses_razorpay:
        return RazorpayGateway(
            billing.razorpay_key_id,
            billing.razorpay_key_secret,
            billing.razorpay_webhook_secret,
            billing.razorpay_base_url,
        )
    secret = load_or_create(config.data_dir / "payment_simulator_secret")
    return SimulatedGateway(db, secret, clock=clock)


async def _database(app: web.Application) -> AsyncIterator[None]:
    db = app[DATABASE]
    await upgrade(db)
    log.info("database ready: %s", _redacted(db.url))
    try:  # payments that completed while we were down
        settled = await app[MONEY].reconcile(everything=True)
        if settled:
            log.info("reconciliation settled %d payment(s) found at start-up", settled)
    except Exception:
        log.exception("reconciliation at start-up failed; the sweeper will retry")
    yield
    await db.close()


async def _notifications_worker(app: web.Application) -> AsyncIterator[None]:
    """Notifications, reminders and mail delivery, every [notifications] poll_seconds."""
    stop = asyncio.Event()
    worker = asyncio.get_running_loop().create_task(app[NOTIFICATIONS].run(stop))
    yield
    stop.set()
    try:  # let a round in progress finish its transaction; SMTP has its own timeout
        await asyncio.wait_for(worker, NOTIFICATIONS_STOP_SECONDS)
    except TimeoutError:
        log.warning("notifications: the last round did not finish in time; it was stopped")


def _redacted(url: str) -> str:
    """The URL without its password, for logs."""
    if "@" not in url:
        return url
    scheme, rest = url.split("://", 1)
    credentials, host = rest.rsplit("@", 1)
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}"
