"""The application: `create_app(settings)` wires plugins, middleware and routers."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from litestar import Litestar, Router
from litestar.config.compression import CompressionConfig
from litestar.config.csrf import CSRFConfig
from litestar.datastructures import State
from litestar.di import Provide
from litestar.exceptions import HTTPException, NotAuthorizedException
from litestar.logging import LoggingConfig
from litestar.middleware import DefineMiddleware
from litestar.plugins.htmx import HTMXPlugin
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.template import TemplateConfig

from portal.accounts import twofactor
from portal.accounts.auth import SessionPolicy
from portal.billing import ledger
from portal.core import db, menu, redact
from portal.core.assets import Assets
from portal.core.crypto import Cipher
from portal.core.errors import DomainError
from portal.core.mail import Worker
from portal.core.templating import register_filters
from portal.dashboard import tasks
from portal.forms import assignments as forms
from portal.forms import definition as form_definition
from portal.handlers import (
    api,
    embed,
    errors,
    limits,
    staff_agenda,
    staff_availability,
    staff_billing,
    staff_embedding,
    staff_forms,
    staff_providers,
)
from portal.handlers.account import AccountController
from portal.handlers.auth import AuthController, session_cookie_name
from portal.handlers.base import (
    TermsAcceptanceRequired,
    TwoFactorSetupRequired,
    provide_actor,
    provide_staff,
)
from portal.handlers.dashboard import DashboardController
from portal.handlers.forms import FormsController
from portal.handlers.health import healthz
from portal.handlers.help import HelpController
from portal.handlers.insurance import InsuranceController
from portal.handlers.invitations import InvitationController, InviteController
from portal.handlers.menu import add_menu_counts, note_menu_reader
from portal.handlers.messages import MessagesController
from portal.handlers.middleware import EmbedCORS, SessionAuthMiddleware, security_headers
from portal.handlers.payments import CardsController, PayController, stripe_webhook
from portal.handlers.profile import ProfileController
from portal.handlers.profile_details import ProfileDetailsController
from portal.handlers.register import (
    ApprovalController,
    RegisterController,
    RegistrationSettingsController,
)
from portal.handlers.schedule import (
    AppointmentController,
    ScheduleController,
    appointments_ics,
    appointments_pdf,
)
from portal.handlers.staff import PaymentSettingsController, StaffController
from portal.handlers.staff_clients import ClientsController, DemographicsController
from portal.handlers.staff_inbox import InboxController
from portal.handlers.staff_record import ClientRecordController
from portal.handlers.staff_services import LocationsController, ServicesController
from portal.handlers.staff_settings import PracticeSettingsController
from portal.handlers.static import static_file
from portal.handlers.terms import TermsController
from portal.insurance import policy as insurance
from portal.messaging import threads as messaging
from portal.messaging.sending import MAX_ATTACHMENTS
from portal.practice import info as practice_info
from portal.practice.info import PracticeInfo, current_practice
from portal.scheduling import appointments
from portal.settings import Settings, load

PACKAGE = Path(__file__).resolve().parent
PUBLIC_PATHS = ["^/static/", "^/healthz$", "^/webhooks/"]


# What the dashboard's tasks widget lists, in this order, and the left menu's counts:
# each area offers its own, registered here rather than by importing for side effects.
TASK_SOURCES = (
    ledger.balance_due,
    appointments.awaiting_confirmation,
    forms.open_forms,
    insurance.insurance_not_answered,
    twofactor.two_factor_off,
)
MENU_COUNTS = {"forms": forms.OPEN_COUNT, "messages": messaging.UNREAD_TOTAL}

# A questionnaire's answers (/forms/{id}): up to MAX_FIELDS questions with long answers, and
# a multiple choice sends one field per ticked option. Other limits: portal.handlers.limits.
QUESTIONNAIRE_BYTES = 4 * limits.MB
# A message with its attachments (My Messages and the staff inbox).
MESSAGE_BYTES = limits.upload_bytes(MAX_ATTACHMENTS)
QUESTIONNAIRE_FIELDS = form_definition.MAX_FIELDS * form_definition.MAX_CHOICES + 10


def create_app(settings: Settings | None = None) -> Litestar:
    settings = settings or load()
    tasks.use(TASK_SOURCES)
    menu.use(MENU_COUNTS)
    practice_info.keep_for(settings.server.practice_refresh_seconds)
    redact.install()
    engine = db.make_engine(settings)
    db.bind(engine)
    assets = Assets()
    cipher = Cipher(settings.secret())
    worker = Worker(settings.mail, root=Path(settings.root)) if settings.server.run_worker else None

    @asynccontextmanager
    async def lifespan(_: Litestar) -> AsyncIterator[None]:
        await db.open_pool(engine)
        task = asyncio.create_task(worker.run_forever()) if worker else None
        try:
            yield
        finally:
            if task:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await db.close_pool(engine)

    jinja = Environment(
        loader=FileSystemLoader(PACKAGE),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    jinja.globals["static"] = assets.url
    register_filters(jinja)

    async def provide_practice() -> PracticeInfo | None:
        return await current_practice()

    return Litestar(
        route_handlers=[
            AuthController,
            AppointmentController,
            appointments_ics,
            appointments_pdf,
            DashboardController,
            ProfileController,
            MessagesController,
            ProfileDetailsController,
            HelpController,
            InsuranceController,
            Router(
                path="/",
                route_handlers=[FormsController],
                request_max_body_size=QUESTIONNAIRE_BYTES,
                opt={limits.MAX_FIELDS_OPT: QUESTIONNAIRE_FIELDS},
            ),
            ScheduleController,
            StaffController,
            PaymentSettingsController,
            ClientsController,
            DemographicsController,
            PracticeSettingsController,
            ServicesController,
            LocationsController,
            ClientRecordController,
            # A staff reply takes attachments like a client's message (its own limit).
            Router(path="/", route_handlers=[InboxController], request_max_body_size=MESSAGE_BYTES),
            InviteController,
            InvitationController,
            RegisterController,
            ApprovalController,
            RegistrationSettingsController,
            *staff_providers.CONTROLLERS,
            *staff_availability.CONTROLLERS,
            *staff_agenda.CONTROLLERS,
            *staff_billing.CONTROLLERS,
            *staff_forms.CONTROLLERS,
            *embed.CONTROLLERS,
            *api.CONTROLLERS,
            *staff_embedding.CONTROLLERS,
            PayController,
            TermsController,
            CardsController,
            AccountController,
            # Stripe's events are JSON, larger than a form but far below a megabyte.
            Router(path="/", route_handlers=[stripe_webhook], request_max_body_size=limits.MB),
            healthz,
            static_file,
        ],
        dependencies={
            "settings": Provide(lambda: settings, use_cache=True, sync_to_thread=False),
            "assets": Provide(lambda: assets, use_cache=True, sync_to_thread=False),
            "cipher": Provide(lambda: cipher, use_cache=True, sync_to_thread=False),
            "practice": Provide(provide_practice),
            "actor": Provide(provide_actor),
            "staff": Provide(provide_staff),
        },
        middleware=[
            # Outermost: sizes, form fields and path ids are checked before anything reads
            # the body (the CSRF middleware parses a whole form to find its token).
            DefineMiddleware(limits.RequestLimits, session_cookie=session_cookie_name(settings)),
            # CORS for /embed/ only, from the embed allow-list (handlers/embed.py).
            DefineMiddleware(EmbedCORS, configured=settings.security.embed_origins),
            DefineMiddleware(
                SessionAuthMiddleware,
                cookie_name=session_cookie_name(settings),
                policy=SessionPolicy(
                    idle=timedelta(minutes=settings.security.session_idle_minutes),
                    absolute=timedelta(hours=settings.security.session_absolute_hours),
                ),
                exclude=PUBLIC_PATHS,
            ),
        ],
        csrf_config=CSRFConfig(
            secret=settings.secret(),
            cookie_name="__Host-csrftoken" if settings.https else "csrftoken",
            cookie_secure=settings.https,
            cookie_httponly=True,
            cookie_samesite="lax",
            exclude=PUBLIC_PATHS,
        ),
        # A 64 KB window (brotli's default is 4 MB): pages are far smaller, compress to the
        # same bytes, and a worker under load held twice the memory with the default.
        compression_config=CompressionConfig(
            backend="brotli",
            brotli_gzip_fallback=True,
            brotli_lgwin=16,
            minimum_size=512,
            exclude=["^/static/", "^/embed/embed.js$"],  # both sent precompressed
        ),
        template_config=TemplateConfig(
            engine=JinjaTemplateEngine.from_environment(jinja),
        ),
        plugins=[HTMXPlugin()],
        # The menu's counts on a client's full pages (forms to complete, unread messages),
        # all in one query: see portal.core.menu and portal.handlers.menu.
        before_request=note_menu_reader,
        after_request=add_menu_counts,
        before_send=[
            security_headers(
                https=settings.https,
                embed_origins=settings.security.embed_origins,
                stripe_js_url=settings.payments.stripe_js_url,
                stripe_api_url=settings.payments.stripe_api_url,
            )
        ],
        exception_handlers={
            NotAuthorizedException: errors.not_signed_in,
            TwoFactorSetupRequired: errors.two_factor_setup_required,
            TermsAcceptanceRequired: errors.terms_acceptance_required,
            DomainError: errors.domain_error,
            HTTPException: errors.http_error,
            Exception: errors.server_error,
        },
        lifespan=[lifespan],
        logging_config=LoggingConfig(
            root={"level": "INFO", "handlers": ["queue_listener"]},
            log_exceptions="never",
        ),
        openapi_config=None,
        # Ordinary forms; the routes taking files or long answers set their own (see
        # portal.handlers.limits and docs/operations.md, "Limits on requests").
        request_max_body_size=limits.FORM_BYTES,
        request_class=limits.PortalRequest,
        state=State({"settings": settings, "engine": engine}),
    )
