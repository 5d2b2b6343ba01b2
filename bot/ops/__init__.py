"""Operations: what operators do to the data, whichever surface they use
(the CLI, the operators' Telegram group, the web console). Each takes the
acting account (`Actor`) and a storage session, returns plain typed results
and raises an `OperationError` subclass; callers only call and format.
"""
