"""The one pipeline from data to decision: a verified policy view, facts, OPA, checked answers.

``runtime`` starts a private OPA, ``client`` talks to one, ``facts`` builds its input,
``decision`` verifies its answer, and ``pipeline`` puts them together for the CLI, the library,
the service and the review.
"""
