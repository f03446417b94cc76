/* Two files that call each other: check_calls.lua must refuse them. */
void layer_probe_b(void);
void layer_probe_a(void);
void layer_probe_a(void) { layer_probe_b(); }
