"""Why the domain's rules refuse a command: each error says what was expected, what was found,
and what to do instead, in words a data owner can act on."""

from __future__ import annotations

from typing import Sequence


class DomainError(Exception):
    """Base class for every command the rules refuse."""


class InvalidValue(DomainError):
    """One field's value is not acceptable. `field` names it as the CSV column and event field do."""

    def __init__(self, field: str, expected: str, found: object, hint: str = "") -> None:
        self.field = field
        self.expected = expected
        self.found = found
        self.hint = hint
        shown = "nothing" if found in (None, "") else repr(found)
        super().__init__(f"{field}: expected {expected}, found {shown}" + (f" ({hint})" if hint else ""))

    @property
    def detail(self) -> str:
        """The message without the field name, for reports that name the column themselves."""
        return str(self).split(": ", 1)[1]


class UnpublishableText(InvalidValue, ValueError):
    """Text holding a character XML 1.0, HTML or iCalendar cannot carry: a control character other than
    tab and line breaks, a lone surrogate, a noncharacter. Refused where it comes in, since every feed
    lists every edition and one such character would stop each later publish."""

    EXPECTED = "text without control characters, lone surrogates or noncharacters (XML, HTML and iCalendar cannot carry them)"

    def __init__(self, field: str, value: str) -> None:
        from .fields import uncarried

        index, char = uncarried(value) or (0, "")
        self.field = field
        self.expected = self.EXPECTED
        self.found = value
        self.character = f"U+{ord(char):04X}" if char else ""
        self.index = index
        excerpt = value[max(0, index - 20) : index + 21]
        self.hint = f"{self.character}, {_kind(char)}, at character {index + 1}: remove it or replace it with a space"
        where = f"{field}: " if field else ""
        DomainError.__init__(self, f"{where}expected {self.EXPECTED}, found {excerpt!r} ({self.hint})")


def _kind(char: str) -> str:
    code = ord(char) if char else 0
    if 0xD800 <= code <= 0xDFFF:
        return "a lone surrogate"
    if code < 0x20 or 0x7F <= code <= 0x9F:
        return "a control character"
    return "a noncharacter"


class BadPlaceholders(InvalidValue):
    """Placeholders in a paragraph that are mistyped or bind no defined measure; `problems` lists each."""

    def __init__(self, field: str, problems: list[str]) -> None:
        self.problems = problems
        self.field = field
        self.expected = "placeholders that bind defined measures"
        self.found = problems
        self.hint = ""
        DomainError.__init__(self, f"{field}: " + "; ".join(problems))


class NothingToChange(DomainError):
    """The command would record nothing new (the same value, the same text, ...)."""


class MeasureAlreadyDefined(DomainError):
    def __init__(self, measure: str) -> None:
        self.measure = measure
        super().__init__(f"measure {measure!r} is already defined: amend it with a reason instead")


class UnknownMeasure(DomainError):
    def __init__(self, measure: str) -> None:
        self.measure = measure
        super().__init__(f"measure {measure!r} is not defined: define it first (measures define or measures import)")


class MeasureIsRetired(DomainError):
    def __init__(self, measure: str, reason: str, doing: str) -> None:
        self.measure = measure
        super().__init__(f"measure {measure!r} was retired ({reason}): {doing} is refused")


class FigureAlreadyRecorded(DomainError):
    def __init__(self, key: str, value: str, new_value: str) -> None:
        self.key = key
        super().__init__(
            f"figure {key} is already recorded as {value}: to change it to {new_value}, revise it "
            "with a reason and a kind (revision for late data, correction for an error)"
        )


class UnknownFigure(DomainError):
    def __init__(self, key: str, recorded_for: Sequence[str] = ()) -> None:
        self.key = key
        self.recorded_for = list(recorded_for)
        message = f"no figure {key} is recorded: record it first"
        if self.recorded_for:
            areas = ", ".join(self.recorded_for)
            message += (
                f" (this measure's figure for this period is recorded for area {areas}: name the area, "
                "or set POLICING_METRICS_DEFAULT_AREA to the force's area)"
            )
        super().__init__(message)


class FigureIsWithdrawn(DomainError):
    def __init__(self, key: str, reason: str, doing: str) -> None:
        self.key = key
        super().__init__(f"figure {key} was withdrawn ({reason}): {doing}")


class EditionAlreadyOpened(DomainError):
    def __init__(self, edition: str) -> None:
        super().__init__(f"edition {edition!r} is already open: amend its details with a reason instead")


class UnknownEdition(DomainError):
    def __init__(self, edition: str) -> None:
        super().__init__(f"edition {edition!r} has not been opened: open it first (edition open)")


class UnknownParagraph(DomainError):
    def __init__(self, edition: str, number: int) -> None:
        super().__init__(f"edition {edition!r} has no paragraph {number}")


class ParagraphNumberTaken(DomainError):
    def __init__(self, edition: str, number: int, section: str) -> None:
        super().__init__(
            f"paragraph {number} already exists in edition {edition!r} (section {section}): paragraph numbers run "
            "through the whole edition; revise that paragraph or choose another number"
        )


class NotReadyToApprove(DomainError):
    """Approval is refused while the check finds problems; `problems` lists every one."""

    def __init__(self, edition: str, problems: list) -> None:
        self.problems = problems
        listed = "\n".join(f"  {problem}" for problem in problems)
        super().__init__(f"edition {edition!r} cannot be approved, {len(problems)} problem(s):\n{listed}")


class UnknownToken(DomainError):
    def __init__(self, token_id: str) -> None:
        self.token_id = token_id
        super().__init__(f"no token with id {token_id!r}: `policing-metrics tokens list` shows them")


class TokenAlreadyRevoked(DomainError):
    def __init__(self, token_id: str, revoked_at: str) -> None:
        self.token_id = token_id
        super().__init__(f"token {token_id} was already revoked at {revoked_at}")


class TokenRefused(DomainError):
    """A bearer token that does not authenticate; the message says why and what to do."""


class TokenNotRecognised(TokenRefused):
    def __init__(self) -> None:
        super().__init__("the API token is unknown or revoked")


class TokenExpired(TokenRefused):
    def __init__(self, token_id: str, expires_at: str) -> None:
        self.token_id = token_id
        self.expires_at = expires_at
        super().__init__(
            f"the API token {token_id} expired at {expires_at}: ask an admin for a new one "
            f"(policing-metrics tokens rotate {token_id})"
        )


# -- the release calendar --------------------------------------------------------------------


class ReleaseRefused(DomainError):
    """A release calendar command that was not carried out; the message says what to do instead."""


class InvalidReleaseTime(ReleaseRefused):
    pass


class NonExistentLocalTime(InvalidReleaseTime):
    """The clocks go forward over this time: it never shows on a London clock."""


class AmbiguousLocalTime(InvalidReleaseTime):
    """The clocks go back over this time: it shows twice on a London clock."""


class ReleaseTimeInPast(ReleaseRefused):
    pass


class WeekendRelease(ReleaseRefused):
    pass


class BankHolidayRelease(ReleaseRefused):
    """A release time on a bank holiday of the force's nation, which counts like a weekend."""


class ReleaseNotConfirmed(ReleaseRefused):
    """A provisional release waits for its confirmation: only a confirmed release is published at its time."""


class TooLittleNotice(ReleaseRefused):
    pass


class ReasonRequired(ReleaseRefused):
    pass


class TitleRequired(ReleaseRefused):
    pass


class ReleaseNotAnnounced(ReleaseRefused):
    pass


class ReleaseAlreadyAnnounced(ReleaseRefused):
    pass


class ReleaseClosed(ReleaseRefused):
    """The release was released or cancelled, so its time can no longer change."""


class ReleaseNotDue(ReleaseRefused):
    pass


class ReleaseMoved(ReleaseRefused):
    """The release is no longer at the time a scheduler was about to release it for."""


class EmbargoOver(ReleaseRefused):
    pass


class EmbargoInForce(ReleaseRefused):
    """The release is announced for a later time: the scheduler publishes it then."""


class ReleaseWasCancelled(ReleaseRefused):
    """Publishing a cancelled release needs it announced again, or --now with a reason."""
