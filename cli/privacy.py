"""sensitive fields: erase a user, reveal a field, rotate the master key

Sensitive payload fields (registry: email, ip) are sealed at ingest under per-user keys
wrapped by the master key EVENTLAKE_PRIVACY_KEY. See docs/privacy.md.
"""

# `eventlake privacy erase|reveal|rotate-key|new-key`: erase a user (crypto-shredding), reveal
# sealed fields, manage keys. The docstrings above and of the handlers are the --help text
# (tests/test_cli.py checks they name the variables of the keys). See docs/privacy.md for what
# is protected and what erasure does and does not reach.

from __future__ import annotations

import argparse
import json
import os
import sys

from cli.args import command, command_group, day
from eventlake.errors import ConfigError
from eventlake.settings import ENV_VARS, Settings

NEW_KEY_VAR = "EVENTLAKE_PRIVACY_NEW_KEY"  # rotation only: never a flag (shell history, ps)


def register(sub: argparse._SubParsersAction, parent: argparse.ArgumentParser) -> None:
    """Adds `privacy erase|reveal|rotate-key|new-key` to the command line."""
    actions = command_group(sub, "privacy", __doc__)
    p = command(actions, "erase", _erase, parent)
    p.add_argument("user_id", metavar="USER_ID", help="the payload user_id of the user to erase")
    p.add_argument("--yes", action="store_true", help="erase (otherwise: a dry run)")

    p = command(actions, "reveal", _reveal, parent)
    p.add_argument("--event-id", required=True, metavar="ID", help="the event's event_id")
    p.add_argument("--day", type=day, metavar="DATE", help="its event date (reads only that day)")

    p = command(actions, "rotate-key", _rotate, parent)
    p.add_argument("--yes", action="store_true", help="rewrap (otherwise: a dry run)")

    command(actions, "new-key", _new_key, parent)


def _erase(args: argparse.Namespace, settings: Settings) -> int:
    """erase a user: delete their keys (crypto-shredding) and dead letters

    Delete USER_ID's data keys and dead letters, and vacuum both tables at once so that
    no older table version brings them back. The user's sealed fields in the event log
    become unreadable; the log and every read model stay as they are. Without --yes,
    only shows what would be erased.

    example:
      eventlake privacy erase u00a1b2c3d4e5 --yes
    """
    from operations.erasure import erase_subject

    user_id: str = args.user_id
    if not user_id:
        raise ConfigError("USER_ID must not be empty")
    done = erase_subject(settings, user_id, dry_run=not args.yes)
    if not args.yes:
        print(
            f"would erase {user_id}: {done.keys} data keys, {done.dead_letters} dead letters "
            "(nothing erased: add --yes to erase)"
        )
        return 0
    print(
        f"erased {user_id}: {done.keys} data keys and {done.dead_letters} dead letters "
        f"deleted, {done.files_removed} files vacuumed"
    )
    return 0


def _reveal(args: argparse.Namespace, settings: Settings) -> int:
    """print an event's payload with its sealed fields decrypted

    Print the payload of one bronze event as JSON, sealed fields decrypted (needs
    EVENTLAKE_PRIVACY_KEY). Fails with 'erased' for an erased user's fields.
    """
    from operations.reveal import reveal

    payload = reveal(settings, args.event_id, day=args.day)
    print(json.dumps(payload, ensure_ascii=False, sort_keys=True))
    return 0


def _rotate(args: argparse.Namespace, settings: Settings) -> int:
    """rewrap every data key from EVENTLAKE_PRIVACY_KEY to EVENTLAKE_PRIVACY_NEW_KEY

    Rewrap every data key under the new master key in EVENTLAKE_PRIVACY_NEW_KEY (the old
    one is EVENTLAKE_PRIVACY_KEY), then vacuum the old copies. Stop the ingesters first
    and restart them with the new key. Without --yes, only counts the keys.
    """
    from eventlake import subject_keys
    from eventlake.catalog import PRIVACY_SUBJECT_KEYS
    from eventlake.field_crypto import MasterKey
    from operations.erasure import vacuum_now
    from operations.key_rotation import rewrap

    old = subject_keys.master_key_of(settings)
    text = os.environ.get(NEW_KEY_VAR, "").strip()
    if not text:
        raise ConfigError(f"{NEW_KEY_VAR} is not set: put the new master key there")
    try:
        new = MasterKey.from_text(text)
    except ValueError as err:
        raise ConfigError(f"{NEW_KEY_VAR}: {err}") from None
    if not args.yes:
        table = subject_keys.open_keys(settings)
        count = 0 if table is None else subject_keys.read_keys(table).height
        print(
            f"would rewrap {count} data keys from master key {old.key_id} to {new.key_id} "
            "(nothing changed: add --yes to rotate)"
        )
        return 0
    moved = rewrap(settings, old, new)
    table = subject_keys.open_keys(settings)
    files = 0 if table is None else vacuum_now(table, PRIVACY_SUBJECT_KEYS)
    print(
        f"rewrapped {moved} data keys from master key {old.key_id} to {new.key_id}, "
        f"{files} files vacuumed: set {ENV_VARS['privacy_key']} to the new key now"
    )
    return 0


def _new_key(args: argparse.Namespace, settings: Settings) -> int:
    """print a fresh random master key (base64)

    Print a fresh random master key for EVENTLAKE_PRIVACY_KEY. Keep it in a secret
    store: losing it makes every sealed field unreadable.
    """
    from eventlake.field_crypto import new_master_key

    sys.stdout.write(new_master_key() + "\n")
    return 0
