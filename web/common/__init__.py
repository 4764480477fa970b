"""What several pages share: input checks, security headers, language, the menu, labels, list pieces, charts."""
