"""Agreement reserves (协议储备): firms that hold goods for us or promise capacity; checks, drills, call-offs."""
