/* A yes/no box: ticked is true, unticked is no value (as the server stores it). */
window.LiuzhuanLiveForm.register("checkbox", {
  value: function (box) {
    var input = box.querySelector("input[type=checkbox]");
    return input && input.checked ? true : undefined;
  }
});
