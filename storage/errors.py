"""The one kind of error that is told, not traced: its message is the whole
story for whoever runs the command or starts the bot (a bad setting, a
roster that cannot be read, a database that cannot be opened). Each layer
raises its own subclass; the command line catches this one, and so needs
none of the layers loaded to print a line and exit."""


class PlainError(Exception):
    """An error whose message, alone, is what to tell the person."""
