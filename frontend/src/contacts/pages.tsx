// The contact screens' chunk (loaded on first visit, see main.tsx).
export { ContactPage } from "./ContactPage";
export { ContactsSearch } from "./ContactsSearch";
