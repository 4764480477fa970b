"""Who is who: staff users, departments, teams, API tokens, login lockouts, and customers."""
