-- Frozen thread-cache layouts: MP_TCACHE_LAYOUT -> fingerprint (tools/abigen.lua).
-- Written by abigen --release; never edit: a caller compiled against a frozen layout
-- runs its inline code on the caches of every library that claims that number.
return {
  [101] = "fnv1a64:ebb6a4f546aa1f22",
}
