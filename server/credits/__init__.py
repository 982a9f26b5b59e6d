"""Free calls and credits: institutions sponsor their verified students' calls."""
