"""Issue, list and revoke API tokens: `api_token issue USER NAME [--days N]`, `list [USER]`, `revoke ID`."""
from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from api.models import ApiToken
from api.tokens import api_token_issue, api_token_revoke
from assessment import access


class Command(BaseCommand):
    help = "Issue, list or revoke API tokens (the plain token is printed once, at issue)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        issue = sub.add_parser("issue", help="issue a token for a staff user")
        issue.add_argument("username")
        issue.add_argument("name", help="what the token is for, e.g. 'county dashboard'")
        issue.add_argument("--days", type=int, default=None, help="expire after this many days (default: never)")
        listing = sub.add_parser("list", help="list tokens (of one user)")
        listing.add_argument("username", nargs="?")
        revoke = sub.add_parser("revoke", help="revoke a token by its id")
        revoke.add_argument("id", type=int)

    def handle(self, *args: Any, **options: Any) -> None:
        getattr(self, options["action"])(options)

    def issue(self, options: dict[str, Any]) -> None:
        user = get_user_model().objects.filter(username=options["username"], is_active=True).first()
        if user is None:
            raise CommandError(f"no active user {options['username']!r}")
        if access.profile_of(user) is None:
            raise CommandError(f"{options['username']} has no staff role: give them one first")
        if options["days"] is not None and options["days"] < 1:
            raise CommandError("--days must be at least 1")
        token, key = api_token_issue(user=user, name=options["name"], days=options["days"])
        self.stdout.write(f"token {token.pk} for {user.username} ({token.name}); keep it secret, it is not shown again:")
        self.stdout.write(key)

    def list(self, options: dict[str, Any]) -> None:
        tokens = ApiToken.objects.select_related("user").order_by("pk")
        if options["username"]:
            tokens = tokens.filter(user__username=options["username"])
        for t in tokens:
            state = "live" if t.is_live else ("revoked" if t.revoked_at else "expired")
            self.stdout.write(f"{t.pk}\t{t.user.username}\t{t.prefix}…\t{state}\t{t.name}\tlast used {t.last_used_at or '-'}")

    def revoke(self, options: dict[str, Any]) -> None:
        token = ApiToken.objects.select_related("user").filter(pk=options["id"]).first()
        if token is None:
            raise CommandError(f"no token {options['id']}")
        api_token_revoke(token=token)
        self.stdout.write(f"token {token.pk} ({token.user.username}, {token.name}) revoked")
