"""The conversations. Each flow is one module; handlers/flows.py registers
them. Importing this package loads none of them, so a command or module that
needs only the message types (handlers.messages) does not build every flow."""
