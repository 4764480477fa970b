/* A multi-select dropdown: the list of picked codes, or no value when none is picked. */
window.LiuzhuanLiveForm.register("multiselect", { value: window.LiuzhuanLiveForm.read.list });
