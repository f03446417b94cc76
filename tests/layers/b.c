void layer_probe_a(void);
void layer_probe_b(void);
void layer_probe_b(void) { layer_probe_a(); }
