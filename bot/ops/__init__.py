"""Operations: the local stack, retention purge, terminal chat, the balancer. Runtime code never imports it."""
