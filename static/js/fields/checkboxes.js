/* Several checkboxes: the list of picked codes, or no value when none is picked. */
window.LiuzhuanLiveForm.register("checkboxes", { value: window.LiuzhuanLiveForm.read.list });
