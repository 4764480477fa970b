/* A whole-number field: its value is a number for the conditions to compare. */
window.LiuzhuanLiveForm.register("integer", { value: window.LiuzhuanLiveForm.read.number });
