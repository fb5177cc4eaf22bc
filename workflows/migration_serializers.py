"""The API's shapes of a migration of contacts in flight (CONTRACT §17): the publish body's `migrate`, the plan."""

from __future__ import annotations

from rest_framework import serializers

from workflows.version_migration import MigrateRequest

MAX_MAPPED_NODES = 1000


class MigrateSerializer(serializers.Serializer):
    from_versions = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=2**31 - 1),
        min_length=1,
        max_length=1000,
        help_text="The published versions whose live contacts move.",
    )
    mapping = serializers.DictField(
        child=serializers.CharField(min_length=1, max_length=64),
        required=False,
        default=dict,
        help_text='Old node id → new node id, or "exit". Unmapped nodes go to the node with the same id.',
    )
    dry_run = serializers.BooleanField(default=True, help_text="Only plan (the default): nothing changes.")

    def validate_mapping(self, value):
        if len(value) > MAX_MAPPED_NODES:
            raise serializers.ValidationError(f"Map at most {MAX_MAPPED_NODES} nodes.")
        too_long = [key for key in value if not key or len(key) > 64]
        if too_long:
            raise serializers.ValidationError("Node ids are 1 to 64 characters long.")
        return value

    @staticmethod
    def request_of(data) -> MigrateRequest:
        """Return the service's request made of this serializer's validated data."""
        return MigrateRequest(
            from_versions=tuple(data["from_versions"]), mapping=dict(data["mapping"]), dry_run=data["dry_run"]
        )


class PublishSerializer(serializers.Serializer):
    migrate = MigrateSerializer(
        required=False,
        help_text="Move the live contacts of older versions onto the new "
        "one (or, with dry_run, only plan it).",
    )


class TimersSerializer(serializers.Serializer):
    kept = serializers.IntegerField()
    recomputed = serializers.IntegerField()
    fired = serializers.IntegerField()


class PlannedMoveSerializer(serializers.Serializer):
    from_version = serializers.IntegerField()
    from_node = serializers.CharField()
    to_node = serializers.CharField(help_text='A node of the new version, or "exit".')
    contacts = serializers.IntegerField()
    waiting = serializers.IntegerField()
    active = serializers.IntegerField()
    mid_step = serializers.IntegerField(help_text="Held by a worker now: they move once their step ends.")
    timers = TimersSerializer()
    timer_rule = serializers.CharField()
    mapped = serializers.BooleanField()


class UnmigratableSerializer(serializers.Serializer):
    from_version = serializers.IntegerField()
    from_node = serializers.CharField(allow_null=True)
    contacts = serializers.IntegerField()
    code = serializers.CharField()
    reason = serializers.CharField()


class MigrationJobSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    status = serializers.CharField()
    total = serializers.IntegerField()
    moved = serializers.IntegerField()
    exited = serializers.IntegerField()
    left = serializers.IntegerField()
    remaining = serializers.IntegerField()
    from_versions = serializers.ListField(child=serializers.IntegerField())
    finished_at = serializers.DateTimeField(allow_null=True)


class MigrationPlanSerializer(serializers.Serializer):
    dry_run = serializers.BooleanField()
    to_version = serializers.IntegerField(allow_null=True)
    moves = PlannedMoveSerializer(many=True)
    unmigratable = UnmigratableSerializer(many=True)
    refusals = UnmigratableSerializer(
        many=True, help_text="Why applying would be refused (empty: it can be)."
    )
    can_apply = serializers.BooleanField()
    totals = serializers.DictField()
    version = serializers.IntegerField(required=False, help_text="The new published version (not a dry run).")
    migration = MigrationJobSerializer(required=False)


class PublishAnswerSerializer(MigrationPlanSerializer):
    """Publish's answer: `{version}` alone (CONTRACT §5), or, with `migrate`, the plan (and the new version unless
    a dry run). One shape whose fields are all optional, so that each answer matches it exactly once."""

    def get_fields(self):
        fields = super().get_fields()
        for field in fields.values():
            field.required = False
        return fields
