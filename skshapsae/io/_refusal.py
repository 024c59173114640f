"""A model file refused on load: the exception the readers raise (``load`` turns it into
one ``ValueError``) and the small readers that refuse, shared by
:mod:`skshapsae.io._persistence` and :mod:`skshapsae.io._persistence_columns` so that neither
imports the other for them."""


class Refused(Exception):
    pass


def refuse(why):
    raise Refused(why)


def take(arrays, key, used):
    """``arrays[key]``, marked as used; a missing array refuses the file."""
    if key not in arrays:
        refuse(f"array {key!r} is missing.")
    used.add(key)
    return arrays[key]


def set_output(estimator, output, where):
    """Apply a stored ``set_output`` container, refusing unknown ones."""
    if output not in (None, "pandas", "polars"):
        refuse(f"{where} has an unknown output container {output!r}.")
    if output is not None:  # set_output(transform=...) as saved
        try:
            estimator.set_output(transform=output)
        except Exception as exc:  # the container's library is not installed here
            refuse(f"{where} outputs {output}, which cannot be used here ({exc}).")
