"""Everything about people: the command grammar, front ends, the ledger, voice and remixes."""
