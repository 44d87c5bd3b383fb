"""Pictures: :mod:`.network` draws the MLP as the lecture does (slides 41-53), :mod:`.graph`
draws the autodiff graph (slide 99)."""
