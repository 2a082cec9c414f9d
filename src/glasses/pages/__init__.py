"""Pages and figures for people: the evaluation report, the batch health page, the review page
of faces a person should look at, all self-contained HTML, and the figures they show."""
