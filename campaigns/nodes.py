"""Campaign actions: add the contact to a campaign or remove it."""

from __future__ import annotations

from pydantic import Field

from workflows.engine.outcomes import Advance, Outcome
from workflows.engine.presets import PLACEHOLDER_CAMPAIGN, Preset
from workflows.engine.registry import NodeConfig, NodeType, Reference, StepContext, node_type

__all__ = ["AddToCampaign", "RemoveFromCampaign"]


class CampaignConfig(NodeConfig):
    campaign_id: str = Field(min_length=1, max_length=100)


CAMPAIGN = Reference("campaign_id", "campaigns.Campaign", "campaign", collection="campaigns")


@node_type(
    "add_to_campaign", kind="action", label="Add to campaign", description="Add the contact to a campaign."
)
class AddToCampaign(NodeType):
    presets = (
        Preset("add-to-campaign", "Add to a campaign", "Add the contact to a campaign.", "campaign",
               {"campaign_id": PLACEHOLDER_CAMPAIGN},
               {"fill_in": f"Replace {PLACEHOLDER_CAMPAIGN} with the id of a campaign."}),
    )
    Config = CampaignConfig
    references = (CAMPAIGN,)
    ports = ("campaigns",)

    def run(self, ctx: StepContext, config: CampaignConfig) -> Outcome:
        ctx.campaigns.add_to_campaign(
            key=ctx.effect_key, contact_id=ctx.contact_id, campaign_id=config.campaign_id
        )
        return Advance(detail={"campaign_id": config.campaign_id})


@node_type(
    "remove_from_campaign",
    kind="action",
    label="Remove from campaign",
    description="Remove the contact from a campaign.",
)
class RemoveFromCampaign(NodeType):
    presets = (
        Preset("remove-from-campaign", "Remove from a campaign", "Take the contact out of a campaign.",
               "campaign", {"campaign_id": PLACEHOLDER_CAMPAIGN},
               {"fill_in": f"Replace {PLACEHOLDER_CAMPAIGN} with the id of a campaign."}),
    )
    Config = CampaignConfig
    references = (CAMPAIGN,)
    ports = ("campaigns",)

    def run(self, ctx: StepContext, config: CampaignConfig) -> Outcome:
        ctx.campaigns.remove_from_campaign(
            key=ctx.effect_key, contact_id=ctx.contact_id, campaign_id=config.campaign_id
        )
        return Advance(detail={"campaign_id": config.campaign_id})
