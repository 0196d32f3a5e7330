"""labkit: the helpers behind the SRE verification workbook."""
