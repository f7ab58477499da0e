"""Analysis of annotated song: a map of every syllable and the syntax of the song."""
