/* A number field: its value is a number for the conditions to compare. */
window.LiuzhuanLiveForm.register("number", { value: window.LiuzhuanLiveForm.read.number });
