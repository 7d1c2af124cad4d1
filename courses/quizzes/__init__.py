"""Question banks and (later) quizzes: questions with their versions, import and export."""
