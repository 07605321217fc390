from questionnaires.models.instruments import (
    Choice,
    ChoiceList,
    Dimension,
    Instrument,
    InstrumentVersion,
    Item,
    PublishState,
    Section,
)
from questionnaires.models.keys import BenchmarkRule, GroupRule, ItemKey, ScoringKey
from questionnaires.models.responses import (
    Invitation,
    Response,
    ResponseScore,
    ReviewDecision,
)

__all__ = [
    "BenchmarkRule", "Choice", "ChoiceList", "Dimension", "GroupRule", "Instrument",
    "InstrumentVersion", "Invitation", "Item", "ItemKey", "PublishState",
    "Response", "ResponseScore", "ReviewDecision", "ScoringKey", "Section",
]
