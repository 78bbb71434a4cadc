"""Talking to a teacher model behind an OpenAI-compatible chat-completions API.

One module per concern: :mod:`.client` makes one call and classifies the reply,
:mod:`.retry` decides whether and when to try again, :mod:`.ratelimit` keeps
within concurrency, request and token limits, :mod:`.cache` remembers every
paid answer so nothing is paid twice, :mod:`.outcomes` says where each answer
ends (ok or a named failure), :mod:`.verify` checks final answers and
:mod:`.pricing` turns token counts into money. :mod:`srl_data.generate` puts
them together.
"""
