/* Several members (templates/forms/fields/users.html): a multiple <select> of the people the field
 * allows, names shown and usernames sent; its value is the list of picked usernames. */
window.LiuzhuanLiveForm.register("users", { value: window.LiuzhuanLiveForm.read.list });
