from __future__ import annotations

import hashlib
import json

from django.core.management.base import BaseCommand, CommandError
from django.db.models.expressions import RawSQL
from django.utils import timezone

from contacts.models import Contact, Segment
from contacts.segments import rule_candidates
from contacts.selectors import contact_as_data
from workflows.engine.conditions import ConditionError, check_rule, compile_rule
from workflows.enrollment_starts import Entry, enrollments_start
from workflows.live_versions import manual_entry_node, published_version_of
from workflows.models import Workflow


class Command(BaseCommand):
    help = (
        "Enroll existing contacts into an active workflow: a segment's members or those matching a JsonLogic "
        "rule over {contact}. Batched; safe to interrupt and run again with the same arguments (contacts "
        "already enrolled by this backfill are not enrolled twice), or resume with --after."
    )

    def add_arguments(self, parser):
        parser.add_argument("--workflow", required=True, help="Workflow id.")
        source = parser.add_mutually_exclusive_group(required=True)
        source.add_argument("--segment", help="Segment id.")
        source.add_argument("--rule", help='JsonLogic over {contact}, e.g. \'{"in": ["vip", {"var": "contact.tags"}]}\'')
        parser.add_argument("--batch-size", type=int, default=500)
        parser.add_argument("--after", help="Resume after this contact id (printed as progress).")
        parser.add_argument("--dry-run", action="store_true", help="Count who would be enrolled; change nothing.")

    def handle(self, *args, workflow, segment, rule, batch_size, after, dry_run, **options):
        target = Workflow.objects.filter(pk=workflow).select_related("workspace").first()
        if target is None:
            raise CommandError(f"No workflow {workflow}.")
        version = published_version_of(target)
        if target.status != Workflow.Status.ACTIVE or version is None:
            raise CommandError(f"The workflow is {target.status}; publish it (and resume it) first.")
        node = manual_entry_node(version)
        contacts = Contact.objects.for_workspace(target.workspace).filter(status=Contact.Status.SUBSCRIBED)
        if segment:
            found = Segment.objects.for_workspace(target.workspace).filter(pk=segment).first()
            if found is None:
                raise CommandError(f"No segment {segment} in the workflow's workspace.")
            parsed_rule = found.rule
        else:
            try:
                parsed_rule = json.loads(rule)
            except json.JSONDecodeError as error:
                raise CommandError(f"--rule is not JSON: {error}") from error
            problems = check_rule(parsed_rule)
            if problems:
                raise CommandError("--rule is not a valid rule: " + " ".join(problems))
        compiled = compile_rule(parsed_rule)
        # The same backfill (workflow + source) names its entries alike, so a re-run enrolls nobody twice.
        occasion = "backfill:" + hashlib.sha256(f"{workflow}:{json.dumps(parsed_rule, sort_keys=True)}".encode()
                                                ).hexdigest()[:16]
        if after:
            contacts = contacts.filter(pk__gt=after)
        # Only the contacts the rule's SQL form may hold for are read (each is still evaluated below).
        candidates = rule_candidates(workspace_id=target.workspace_id, rule=parsed_rule, now=timezone.now())
        if candidates is not None:
            contacts = contacts.filter(pk__in=RawSQL(*candidates))
        matched = started = 0
        last = None
        batch: list[Contact] = []
        for contact in contacts.order_by("pk").iterator(chunk_size=batch_size):
            last = contact.pk
            try:
                if compiled.holds({"contact": contact_as_data(contact)}):
                    batch.append(contact)
            except ConditionError:
                continue
            if len(batch) >= batch_size:
                matched, started = self._flush(batch, version, node, occasion, dry_run, matched, started, last)
                batch = []
        if batch:
            matched, started = self._flush(batch, version, node, occasion, dry_run, matched, started, last)
        verb = "would enroll" if dry_run else "enrolled"
        self.stdout.write(f"matched {matched} contact(s); {verb} {matched if dry_run else started}")

    def _flush(self, batch, version, node, occasion, dry_run, matched, started, last):
        matched += len(batch)
        if not dry_run:
            report = enrollments_start(version=version, entries=[
                Entry(contact_id=c.pk, trigger_node_id=node, occasion=occasion) for c in batch
            ])
            started += len(report.started)
        self.stdout.write(f"progress: {matched} matched, {started} enrolled, --after {last}")
        return matched, started
