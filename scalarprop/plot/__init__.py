"""Pictures: :mod:`.network` draws the MLP as the lecture does (slides 41-53; its units laid
out by :mod:`.layout`, painted by :mod:`.painter`), :mod:`.graph` draws the autodiff graph
(slide 99); :mod:`.figure` holds what they share. :mod:`.page` writes the explorer page."""
