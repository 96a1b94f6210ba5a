"""The one exception type the tag codecs raise."""


class TagDataError(ValueError):
    """Tag memory that cannot be decoded (unknown model, blank, corrupt) or a tag not encodable."""
