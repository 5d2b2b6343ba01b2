"""The operators' web console under /console/: server-rendered pages
(Starlette, Jinja2), HTMX for the parts that update in place, and every
action through the same operations (bot/ops) the command line uses."""
