/* Radio buttons: the picked option's code. */
window.LiuzhuanLiveForm.register("radio", {
  value: function (box) {
    var picked = box.querySelector("input[type=radio]:checked");
    return picked ? picked.value : undefined;
  }
});
