//! GS1 DataMatrix: encode, render, decode and ISO/IEC 15415 grading. Pure functions over images.
