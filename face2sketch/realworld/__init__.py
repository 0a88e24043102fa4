"""The world users' pictures come from, simulated: studio masks and compositing (``foreground``), backgrounds, paper,
pencil and line drawings (``sketch_styles``), photos as photographed (``photographed``); training pairs changed by them
(``augmentation``) and the named, seeded condition sets validation and evaluate score under (``conditions``)."""
