"""Operations: the local stack, retention purge, terminal chat, the nginx entry point. Runtime code never imports it."""
